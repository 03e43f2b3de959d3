-- GET /order_timeline: the columns _api__models.yml documents, of fct_order_timeline.
{{ api_view(ref('fct_order_timeline')) }}
