-- GET /shipments: the columns _api__models.yml documents, of fct_shipment_current_status.
{{ api_view(ref('fct_shipment_current_status')) }}
