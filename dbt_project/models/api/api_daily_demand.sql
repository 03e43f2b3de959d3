-- GET /daily_demand: the columns _api__models.yml documents, of fct_daily_demand.
{{ api_view(ref('fct_daily_demand')) }}
