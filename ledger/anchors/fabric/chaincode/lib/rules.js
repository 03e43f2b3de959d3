'use strict';

// The anchoring rules, with no Fabric dependency so that they can be tested alone:
// per log origin the latest head (size, root) never shrinks, and one size never
// gets a second root. The same head again is accepted and changes nothing.

const SIZE = /^(0|[1-9][0-9]*)$/;
const ROOT = /^[0-9a-f]{64}$/;
const MAX_SIZE = BigInt('18446744073709551615'); // uint64, as RFC 9162 tree sizes

class AnchorRefused extends Error {
    constructor(code, message) {
        super(`${code}: ${message}`);
        this.name = 'AnchorRefused';
        this.code = code;
    }
}

// A validated head from the chaincode's string arguments.
function parseHead(origin, size, root) {
    if (typeof origin !== 'string' || origin.length === 0 || origin.includes('\n')) {
        throw new AnchorRefused('BadRequest', 'origin must be one non-empty line');
    }
    if (typeof size !== 'string' || !SIZE.test(size) || BigInt(size) > MAX_SIZE) {
        throw new AnchorRefused('BadRequest', `size ${JSON.stringify(size)} is not a uint64 decimal`);
    }
    if (typeof root !== 'string' || !ROOT.test(root)) {
        throw new AnchorRefused('BadRequest', 'root must be 64 lowercase hex digits (SHA-256)');
    }
    return { origin, size, root };
}

// The head to store after `requested`, given the stored `previous` head (or null).
// Returns { head, changed }; throws AnchorRefused on a shrinking size or a fork.
function nextHead(previous, requested) {
    if (previous) {
        const before = BigInt(previous.size);
        const after = BigInt(requested.size);
        if (after < before) {
            throw new AnchorRefused(
                'SizeShrinks',
                `${requested.origin}: size ${requested.size} is below the anchored size ${previous.size}`
            );
        }
        if (after === before) {
            if (requested.root !== previous.root) {
                throw new AnchorRefused(
                    'RootConflict',
                    `${requested.origin}: size ${requested.size} is anchored with root ${previous.root}`
                );
            }
            return { head: previous, changed: false };
        }
    }
    return { head: { ...requested }, changed: true };
}

module.exports = { AnchorRefused, parseHead, nextHead };
