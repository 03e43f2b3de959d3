// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title CheckpointAnchor
/// @notice Records the signed tree heads of RFC 9162 transparency logs: per log
///         origin, the latest (tree size, root hash). A size never shrinks and one
///         size never gets a second root, so a log operator cannot rewrite the
///         history it anchored here.
/// @dev    Compiled with solc 0.8.37 (npm `solc`) by ledger/anchors/evm/compile.py;
///         the ABI and bytecode are committed beside this file.
contract CheckpointAnchor {
    struct Head {
        uint64 size;
        bytes32 root;
        uint64 blockNumber;
    }

    /// @notice The account allowed to anchor (the one that deployed the contract).
    address public owner;

    mapping(bytes32 => Head) private heads;

    /// @notice A checkpoint of `origin` was anchored.
    event Anchored(bytes32 indexed originHash, string origin, uint64 size, bytes32 root);

    error NotOwner(address caller);
    error EmptyOrigin();
    error SizeShrinks(string origin, uint64 latestSize, uint64 size);
    error RootConflict(string origin, uint64 size, bytes32 latestRoot, bytes32 root);

    constructor() {
        owner = msg.sender;
    }

    /// @notice Record that the log `origin` had `root` at `size` leaves.
    /// @dev Reverts with SizeShrinks below the latest size and with RootConflict
    ///      for the latest size with another root; the same head again is accepted
    ///      (and keeps the block it was first anchored in).
    function anchor(string calldata origin, uint64 size, bytes32 root) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (bytes(origin).length == 0) revert EmptyOrigin();
        bytes32 key = keccak256(bytes(origin));
        Head storage head = heads[key];
        if (head.blockNumber != 0) {
            if (size < head.size) revert SizeShrinks(origin, head.size, size);
            if (size == head.size) {
                if (root != head.root) revert RootConflict(origin, size, head.root, root);
                emit Anchored(key, origin, size, root);
                return; // the same head again: keep the block it was first anchored in
            }
        }
        head.size = size;
        head.root = root;
        head.blockNumber = uint64(block.number);
        emit Anchored(key, origin, size, root);
    }

    /// @notice The latest anchored head of `origin` (all zero if none).
    function latest(string calldata origin)
        external
        view
        returns (uint64 size, bytes32 root, uint64 blockNumber)
    {
        Head storage head = heads[keccak256(bytes(origin))];
        return (head.size, head.root, head.blockNumber);
    }
}
