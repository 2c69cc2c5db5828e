// Validate glTF/GLB files with the Khronos glTF-Validator (npm gltf-validator; it has no CLI).
//
//   node tests/js/validate.mjs FILE [FILE...]
//
// Prints one JSON array to stdout: the validator's report object for each file, in argument order
// (report.issues.numErrors / numWarnings / numInfos / numHints, report.issues.messages[] with code,
// message, severity 0=error 1=warning 2=info 3=hint, pointer). Exit status 0 when every file was read and
// validated (whatever the findings), 2 on usage or I/O errors.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE [FILE...]");
  process.exit(2);
}
const reports = [];
for (const file of files) {
  let data;
  try {
    data = await readFile(file);
  } catch (err) {
    console.error(`cannot read ${file}: ${err}`);
    process.exit(2);
  }
  try {
    reports.push(await validator.validateBytes(new Uint8Array(data), {
      uri: file,
      maxIssues: 0, // unlimited
      writeTimestamp: false,
    }));
  } catch (err) {
    // The validator rejects input it cannot even parse as glTF/GLB.
    console.error(`cannot validate ${file}: ${err}`);
    process.exit(2);
  }
}
process.stdout.write(JSON.stringify(reports));
