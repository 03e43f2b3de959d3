-- GET /replenishment: the columns _api__models.yml documents, of fulfilment.replenishment.
{{ api_view(source('fulfilment', 'replenishment')) }}
