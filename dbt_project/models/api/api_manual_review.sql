-- GET /manual_review: the columns _api__models.yml documents, of fulfilment.manual_review.
{{ api_view(source('fulfilment', 'manual_review')) }}
