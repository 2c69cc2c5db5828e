// Node client of assetgen.v1.AssetGenerator (issue 7): @grpc/grpc-js + @grpc/proto-loader on the same proto.
// usage: node grpc_client.mjs <proto root> <host:port>
// Prints one JSON line: DescribeModels' model ids and RPCs, and the GenerateAsset stream's header and files
// (bytes received and their sha256, checked here against the header).
import { createHash } from "node:crypto";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [root, target] = process.argv.slice(2);
const def = protoLoader.loadSync("assetgen/v1/assetgen.proto", {
  includeDirs: [root], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const v1 = grpc.loadPackageDefinition(def).assetgen.v1;
const client = new v1.AssetGenerator(target, grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 120000);

function describe() {
  return new Promise((resolve, reject) =>
    client.DescribeModels({}, { deadline: deadline() }, (err, resp) => (err ? reject(err) : resolve(resp))));
}

function generate(request) {
  return new Promise((resolve, reject) => {
    const call = client.GenerateAsset(request, { deadline: deadline() });
    let header = null;
    const files = {};
    call.on("data", (chunk) => {
      if (chunk.payload === "header") header = chunk.header;
      else {
        const f = chunk.file;
        const parts = files[f.path] || (files[f.path] = []);
        const have = parts.reduce((n, b) => n + b.length, 0);
        if (String(have) !== String(f.offset)) reject(new Error(`${f.path}: offset ${f.offset}, expected ${have}`));
        parts.push(f.data);
      }
    });
    call.on("error", reject);
    call.on("end", () => resolve({ header, files }));
  });
}

async function expectError(request) {
  try {
    await generate(request);
    return "OK";
  } catch (err) {
    return Object.keys(grpc.status).find((k) => grpc.status[k] === err.code);
  }
}

const d = await describe();
const { header, files } = await generate({ seed: "7", psi: 0.7, export: { texture_size: 64, lods: 1, preview_size: 32 } });
const received = {};
for (const [path, parts] of Object.entries(files)) {
  const data = Buffer.concat(parts);
  received[path] = { size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}
const matches = header.files.every((f) => received[f.path] && String(received[f.path].size) === String(f.size)
  && received[f.path].sha256 === f.sha256);
const bad = await expectError({ seed: "1", export: { texture_size: 100, lods: 1 } });
console.log(JSON.stringify({
  models: d.models.map((m) => m.id), rpcs: d.rpcs_served, spec_hash: header.spec_hash, files: received,
  header_matches: matches, bad_request: bad,
}));
client.close();
