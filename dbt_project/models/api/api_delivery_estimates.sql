-- GET /delivery_estimates: the columns _api__models.yml documents, of fct_delivery_estimates.
{{ api_view(ref('fct_delivery_estimates')) }}
