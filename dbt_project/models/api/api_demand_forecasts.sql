-- GET /demand_forecasts: the columns _api__models.yml documents, of ml.demand_forecasts.
{{ api_view(source('ml', 'demand_forecasts')) }}
