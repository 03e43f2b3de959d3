-- GET /order_exceptions: the columns _api__models.yml documents, of fct_order_exceptions.
{{ api_view(ref('fct_order_exceptions')) }}
