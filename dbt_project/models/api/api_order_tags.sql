-- GET /order_tags: the columns _api__models.yml documents, of fct_order_tags.
{{ api_view(ref('fct_order_tags')) }}
