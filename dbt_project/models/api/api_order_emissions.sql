-- GET /order_emissions: the columns _api__models.yml documents, of fulfilment.order_emissions.
{{ api_view(source('fulfilment', 'order_emissions')) }}
