// Loads ?glb=<url> with three.js GLTFLoader and, for every clip, plays it alone in an AnimationMixer, sets the
// mixer to each of ?times=<s,s,…> and records LOD0's skin morph influences (?morphs=<name,…>) and the local
// quaternions of ?bones=<name,…>. Reports JSON: POST /result and document.title.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const params = new URLSearchParams(location.search);
const list = (k) => (params.get(k) || '').split(',').filter((s) => s.length);
const glbUrl = params.get('glb') || '/asset.glb';
const times = list('times').map(Number);
const morphs = list('morphs');
const boneNames = list('bones');

async function report(result) {
  document.title = result.ok ? 'done' : 'error';
  document.getElementById('result').textContent = JSON.stringify(result);
  try {
    await fetch('/result', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                             body: JSON.stringify(result) });
  } catch (e) { /* the test then reads the DOM */ }
}

async function main() {
  const gltf = await new GLTFLoader().loadAsync(glbUrl);
  const root = gltf.scene;
  let lod0 = null;
  root.traverse((o) => { if (!lod0 && /_LOD0$/.test(o.name)) lod0 = o; });
  const meshes = [];
  lod0.traverse((o) => { if (o.isMesh) meshes.push(o); });
  const skin = meshes.find((m) => m.material && m.material.name === 'skin') || meshes[0];
  // Bones by their glTF node name (three.js renames duplicates, "head" → "head_1", and drops '.').
  const boneByName = {};
  root.traverse((o) => {
    const assoc = o.isBone && gltf.parser.associations.get(o);
    if (assoc && assoc.nodes !== undefined) boneByName[gltf.parser.json.nodes[assoc.nodes].name] = o;
  });
  const clips = {};
  for (const clip of gltf.animations) {
    const mixer = new THREE.AnimationMixer(root);
    const action = mixer.clipAction(clip);
    action.play();
    const samples = [];
    for (const t of times) {
      if (t > clip.duration) continue;
      mixer.setTime(t);
      const weights = {};
      for (const name of morphs) weights[name] = skin.morphTargetInfluences[skin.morphTargetDictionary[name]];
      const bones = {};
      for (const name of boneNames) {
        const b = boneByName[name];
        if (b) bones[name] = b.quaternion.toArray();
      }
      samples.push({ t, weights, bones });
    }
    action.stop();
    mixer.uncacheRoot(root);
    for (const m of meshes) if (m.morphTargetInfluences) m.morphTargetInfluences.fill(0);
    root.traverse((o) => { if (o.isBone) o.quaternion.identity(); });
    clips[clip.name] = { duration: clip.duration, tracks: clip.tracks.length, samples };
  }
  await report({ ok: true, three: THREE.REVISION, clips });
}

main().catch((e) => report({ ok: false, error: String(e && e.stack || e) }));
