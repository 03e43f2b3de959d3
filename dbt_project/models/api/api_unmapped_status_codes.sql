-- GET /unmapped_status_codes: the columns _api__models.yml documents, of fct_unmapped_status_codes.
{{ api_view(ref('fct_unmapped_status_codes')) }}
