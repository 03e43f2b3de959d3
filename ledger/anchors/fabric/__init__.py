"""The Hyperledger Fabric anchor: the ``checkpoint-anchor`` chaincode (``chaincode/``, Node),
the client identity (:mod:`.identity`), the protocol messages (:mod:`.messages`), the
Gateway gRPC client (:mod:`.gateway`) and the anchor itself (:mod:`.anchor`).
"""
