// Differential oracle: signs and verifies with reference implementations nobody here wrote
// (npm `stripe` for the Calendly/Stripe `t=,v1=` scheme, npm `standardwebhooks`).
// Reads a JSON array of cases on stdin, writes a JSON array of verdicts on stdout.
'use strict';
const Stripe = require('stripe');
const { Webhook } = require('standardwebhooks');

const stripe = new Stripe('sk_test_unused');

function accepts(fn) {
  try {
    fn();
    return true;
  } catch (_) {
    return false;
  }
}

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  const out = cases.map((c) => {
    const body = Buffer.from(c.body_b64, 'base64').toString('utf8');
    const tampered = body + ' ';
    const calendlyOurs = c.our_calendly_header;
    const stripeHeader = stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: c.key,
      timestamp: c.t,
    });
    const stripeVerify = (payload, header) =>
      accepts(() => stripe.webhooks.signature.verifyHeader(payload, header, c.key, 300, undefined, c.t));

    const wh = new Webhook(c.sw_secret);
    const swSignature = wh.sign(c.msg_id, new Date(c.sw_t * 1000), body);
    const swVerify = (payload, sig) =>
      accepts(() =>
        wh.verify(payload, {
          'webhook-id': c.msg_id,
          'webhook-timestamp': String(c.sw_t),
          'webhook-signature': sig,
        }, { jsonParse: false }),
      );
    return {
      stripe_header: stripeHeader,
      stripe_accepts_ours: stripeVerify(body, calendlyOurs),
      stripe_accepts_ours_tampered: stripeVerify(tampered, calendlyOurs),
      sw_signature: swSignature,
      sw_accepts_ours: swVerify(body, c.our_sw_signature),
      sw_accepts_ours_tampered: swVerify(tampered, c.our_sw_signature),
    };
  });
  process.stdout.write(JSON.stringify(out));
});
