-- GET /orders: the columns _api__models.yml documents, of fct_order_current_status.
{{ api_view(ref('fct_order_current_status')) }}
