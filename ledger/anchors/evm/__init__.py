"""The EVM anchor: the ``CheckpointAnchor`` contract (source, ABI, bytecode), its
compiler script (:mod:`ledger.anchors.evm.compile`) and the web3.py client
(:mod:`ledger.anchors.evm.anchor`).
"""
