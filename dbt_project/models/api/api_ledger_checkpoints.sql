-- GET /ledger_checkpoints: the columns _api__models.yml documents, of ledger.checkpoints.
{{ api_view(source('ledger', 'checkpoints')) }}
