-- GET /consolidation_suggestions: the columns _api__models.yml documents, of fulfilment.consolidation_suggestions.
{{ api_view(source('fulfilment', 'consolidation_suggestions')) }}
