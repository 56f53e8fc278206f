// Seed 002's own verifier, exactly as its docs print it (the function below is copied
// unchanged); the lines after it only feed it one delivery: node verify_webhook.js
// <body file> <X-Webhook-Signature value> <secret>, printing true or false.
const crypto = require('crypto');

function verifyWebhook(body, signature, secret) {
  const expected = 'sha256=' + crypto
    .createHmac('sha256', secret)
    .update(body)
    .digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}

const [bodyFile, signature, secret] = process.argv.slice(2);
const body = require('fs').readFileSync(bodyFile);
let ok = false;
try {
  ok = verifyWebhook(body, signature, secret);
} catch (e) {
  ok = false; // timingSafeEqual throws when the lengths differ
}
console.log(ok ? 'true' : 'false');
