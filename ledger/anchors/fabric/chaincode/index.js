'use strict';

// Entry point of the checkpoint-anchor chaincode (fabric-chaincode-node start).
const { CheckpointAnchorContract } = require('./lib/checkpoint-anchor');

module.exports.CheckpointAnchorContract = CheckpointAnchorContract;
module.exports.contracts = [CheckpointAnchorContract];
