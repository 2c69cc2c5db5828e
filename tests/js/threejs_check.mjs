// Loads ?glb=<url> with three.js GLTFLoader, hides every LOD but LOD0, sets ?morph=<name> to 1 on LOD0,
// renders one frame with lights, and reports what the loader exposed: POST /result (JSON) and document.title.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const params = new URLSearchParams(location.search);
const glbUrl = params.get('glb') || '/asset.glb';
const morphName = params.get('morph') || 'jawOpen';
const size = Number(params.get('size') || 512);

async function report(result) {
  document.title = result.ok ? 'done' : 'error';
  document.getElementById('result').textContent = JSON.stringify(result);
  try {
    await fetch('/result', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                             body: JSON.stringify(result) });
  } catch (e) { /* the test then reads the DOM */ }
}

async function main() {
  const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(size, size);
  document.body.appendChild(renderer.domElement);

  const gltf = await new GLTFLoader().loadAsync(glbUrl);
  const root = gltf.scene;
  const lodNodes = {};
  root.traverse((o) => { const m = /_LOD(\d+)$/.exec(o.name); if (m) lodNodes[o.name] = Number(m[1]); });
  for (const [name, level] of Object.entries(lodNodes)) root.getObjectByName(name).visible = level === 0;
  const lod0 = root.getObjectByName(Object.keys(lodNodes).find((n) => lodNodes[n] === 0));

  const meshes = [], skinned = [], bones = new Set();
  root.traverse((o) => {
    if (o.isMesh) meshes.push(o);
    if (o.isSkinnedMesh) skinned.push(o);
    if (o.isBone) bones.add(o.name);
  });
  const lod0Meshes = [];
  lod0.traverse((o) => { if (o.isMesh) lod0Meshes.push(o); });
  const skin = lod0Meshes.find((m) => m.material && m.material.name === 'skin') || lod0Meshes[0];
  const dict = skin.morphTargetDictionary || {};
  const index = dict[morphName];
  const before = skin.morphTargetInfluences ? skin.morphTargetInfluences.slice() : [];
  for (const m of lod0Meshes) if (m.morphTargetDictionary && morphName in m.morphTargetDictionary)
    m.morphTargetInfluences[m.morphTargetDictionary[morphName]] = 1.0;

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0.05, 0.1, 0.3);
  scene.add(root);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x404040, 1.5));
  const sun = new THREE.DirectionalLight(0xffffff, 2.0);
  sun.position.set(0.5, 1.0, 2.0);
  scene.add(sun);

  root.updateMatrixWorld(true);
  const box = new THREE.Box3().setFromObject(lod0, true);
  const center = box.getCenter(new THREE.Vector3());
  const dims = box.getSize(new THREE.Vector3());
  const camera = new THREE.PerspectiveCamera(30, 1, 0.01, 100);
  const dist = 1.3 * Math.max(dims.x, dims.y) / (2 * Math.tan(THREE.MathUtils.degToRad(15)));
  camera.position.set(center.x, center.y, center.z + dims.z / 2 + dist);  // glTF: the face looks toward +Z
  camera.lookAt(center);
  renderer.render(scene, camera);

  const material = skin.material;
  await report({
    ok: true,
    three: THREE.REVISION,
    lodNodes,
    meshCount: meshes.length,
    skinnedMeshCount: skinned.length,
    boneCount: bones.size,
    skeletonBones: skin.skeleton ? skin.skeleton.bones.length : 0,
    skinMesh: skin.name,
    morphTargetDictionary: Object.keys(dict),
    morphIndex: index === undefined ? null : index,
    influenceBefore: index === undefined ? null : before[index],
    influenceAfter: index === undefined ? null : skin.morphTargetInfluences[index],
    animations: gltf.animations.map((a) => ({ name: a.name, duration: a.duration, tracks: a.tracks.length })),
    material: { name: material.name, map: !!material.map, normalMap: !!material.normalMap,
                roughnessMap: !!material.roughnessMap, aoMap: !!material.aoMap },
    bounds: { min: box.min.toArray(), max: box.max.toArray() },
    drawCalls: renderer.info.render.calls,
    triangles: renderer.info.render.triangles,
  });
}

main().catch((e) => report({ ok: false, error: String(e && e.stack || e) }));
