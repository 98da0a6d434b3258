'use strict';
// Test certificates made with openssl at test time: a CA, server
// certificates it signs (for localhost, 127.0.0.1 and ::1), and a
// self-signed one nobody trusts. EC keys: quick to generate.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n'
  + 'extendedKeyUsage=serverAuth,clientAuth\n';

/**
 * Makes a CA in a fresh temp directory. Returns {dir, caFile, ca (PEM),
 * issue(name, cn) -> {cert, key} file paths signed by the CA (server and
 * client use),
 * selfSigned(name, cn) -> {cert, key} file paths, remove()}.
 */
function makeCa() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starling-tls-'));
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', ...EC, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1',
    '-subj', '/CN=starling-test-ca');
  let serial = Date.now();
  return {
    dir,
    caFile: file('ca.pem'),
    ca: fs.readFileSync(file('ca.pem')),
    issue(name, cn = 'localhost') {
      openssl('req', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`);
      fs.writeFileSync(file(`${name}.ext`), SERVER_EXT);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
        '-set_serial', String(++serial), '-days', '1', '-out', file(`${name}.pem`), '-extfile', file(`${name}.ext`));
      return { cert: file(`${name}.pem`), key: file(`${name}.key`) };
    },
    selfSigned(name, cn = 'localhost') {
      fs.writeFileSync(file(`${name}.ext`), SERVER_EXT);
      openssl('req', '-x509', ...EC, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '1',
        '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1');
      return { cert: file(`${name}.pem`), key: file(`${name}.key`) };
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { makeCa };
