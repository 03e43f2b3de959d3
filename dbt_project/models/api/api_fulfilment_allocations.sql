-- GET /fulfilment_allocations: the columns _api__models.yml documents, of fulfilment.allocations.
{{ api_view(source('fulfilment', 'allocations')) }}
