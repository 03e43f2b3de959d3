'use strict';

// The anchoring rules against the shared vectors (the Python gateway stub runs them too).
const test = require('node:test');
const assert = require('node:assert/strict');
const { AnchorRefused, parseHead, nextHead } = require('../lib/rules');
const vectors = require('./vectors.json');

for (const vector of vectors.cases) {
    test(vector.name, () => {
        const ledger = new Map();
        vector.steps.forEach((step, i) => {
            const [origin, size, root] = step.args;
            let outcome;
            try {
                const requested = parseHead(origin, size, root);
                const { head, changed } = nextHead(ledger.get(origin) || null, requested);
                ledger.set(origin, head);
                outcome = changed ? 'ok' : 'unchanged';
            } catch (error) {
                assert.ok(error instanceof AnchorRefused, `step ${i}: ${error}`);
                outcome = error.code;
            }
            assert.equal(outcome, step.expect, `step ${i} of ${vector.name}`);
        });
    });
}
