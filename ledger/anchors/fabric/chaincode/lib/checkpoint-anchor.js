'use strict';

// checkpoint-anchor: records the signed tree heads of RFC 9162 transparency logs.
//   Anchor(origin, size, rootHex) -> JSON of the stored head (refuses a shrinking
//                                    size or a second root for a size: lib/rules.js)
//   Latest(origin)                -> JSON of the latest head, or "" when none
// State key: composite key ('checkpoint', [origin]); every anchoring also emits a
// chaincode event "Anchored" with the head.

const { Contract } = require('fabric-contract-api');
const { parseHead, nextHead } = require('./rules');

const OBJECT_TYPE = 'checkpoint';

class CheckpointAnchorContract extends Contract {
    constructor() {
        super('CheckpointAnchor');
    }

    async Anchor(ctx, origin, size, root) {
        const requested = parseHead(origin, size, root);
        const key = ctx.stub.createCompositeKey(OBJECT_TYPE, [origin]);
        const stored = await ctx.stub.getState(key);
        const previous = stored && stored.length > 0 ? JSON.parse(stored.toString()) : null;
        const { head, changed } = nextHead(previous, requested);
        if (changed) {
            head.txId = ctx.stub.getTxID();
            head.timestamp = ctx.stub.getTxTimestamp().seconds.toString();
            await ctx.stub.putState(key, Buffer.from(JSON.stringify(head)));
        }
        ctx.stub.setEvent('Anchored', Buffer.from(JSON.stringify(head)));
        return JSON.stringify(head);
    }

    async Latest(ctx, origin) {
        const key = ctx.stub.createCompositeKey(OBJECT_TYPE, [origin]);
        const stored = await ctx.stub.getState(key);
        return stored && stored.length > 0 ? stored.toString() : '';
    }
}

module.exports = { CheckpointAnchorContract };
