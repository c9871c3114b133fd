// validate.js — packaging/kubernetes.yaml checked against the Kubernetes
// API's own schemas (kubernetes-models: classes generated from the API's
// OpenAPI document, each with a JSON-schema validator), plus what the
// example promises: the image's user, the health probes on the port it
// exposes, the store's settings from the Secret, the Service selecting the
// Deployment's pods. Prints ok/FAIL lines and a RESULT line.
'use strict';
const fs = require('fs');
const path = require('path');
const mods = process.env.ASSETD_K8S_MODULES;
const req = (m) => require(path.join(mods, 'node_modules', m));
const YAML = req('yaml');
const kinds = {
  'v1/Secret': req('kubernetes-models/v1/Secret').Secret,
  'v1/Service': req('kubernetes-models/v1/Service').Service,
  'apps/v1/Deployment': req('kubernetes-models/apps/v1/Deployment').Deployment,
};

let passed = 0, failed = 0;
function check(name, fn) {
  try {
    const why = fn();
    if (why) throw new Error(why);
    console.log(`ok   ${name}`);
    passed++;
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message.split('\n').slice(0, 6).join(' | ')}`);
    failed++;
  }
}

const file = process.argv[2] || 'packaging/kubernetes.yaml';
const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => {
  if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
  return d.toJSON();
});
const byKind = {};
for (const doc of docs) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  check(`${key} ${doc.metadata && doc.metadata.name} is valid against the API's schema`, () => {
    const Model = kinds[key];
    if (!Model) return `no schema for ${key} here`;
    new Model(doc).validate(); // throws with the paths that are wrong
    byKind[doc.kind] = doc;
  });
}
// the checker itself: a broken manifest is refused
check('a Deployment with a wrong type is refused by the same check', () => {
  const bad = JSON.parse(JSON.stringify(byKind.Deployment));
  bad.spec.replicas = 'three';
  try {
    new kinds['apps/v1/Deployment'](bad).validate();
  } catch (e) {
    return '';
  }
  return 'accepted';
});
check('the pods run as the image user, probe /healthz on the exposed port, read the Secret', () => {
  const pod = byKind.Deployment.spec.template.spec;
  const c = pod.containers[0];
  if (pod.securityContext.runAsUser !== 10001) return 'not the image user';
  if (c.readinessProbe.httpGet.path !== '/healthz' || c.readinessProbe.httpGet.port !== c.ports[0].name) return 'probe';
  if (c.ports[0].containerPort !== 8080) return 'port';
  if (c.envFrom[0].secretRef.name !== byKind.Secret.metadata.name) return 'secret';
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  if (env.ASSETD_STORE !== 'postgres') return 'store';
  for (const k of ['ASSETD_DATABASE_URL', 'ASSETD_S3_ENDPOINT', 'ASSETD_S3_BUCKET', 'ASSETD_DELIVERY_SECRETS'])
    if (!(k in byKind.Secret.stringData)) return `${k} missing from the Secret`;
  return '';
});
check('the Service selects the Deployment\'s pods', () => {
  const sel = byKind.Service.spec.selector, labels = byKind.Deployment.spec.template.metadata.labels;
  return Object.entries(sel).every(([k, v]) => labels[k] === v) ? '' : 'selector';
});
console.log(`RESULT passed=${passed} failed=${failed} skipped=0`);
process.exit(failed ? 1 : 0);
