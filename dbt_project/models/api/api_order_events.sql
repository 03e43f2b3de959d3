-- GET /order_events: the columns _api__models.yml documents, of fct_order_status_events.
{{ api_view(ref('fct_order_status_events')) }}
