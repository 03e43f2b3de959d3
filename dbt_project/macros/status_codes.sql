{#- What a status code means, written once: how a code is normalised before it is matched
    with the crosswalk, and which canonical statuses say the goods have left. -#}


{#- SQL expression: the key a status `code` is matched on, by the normalisation of its
    field's row of seeds/status_fields (`fields`, a relation alias; a field without a row
    is matched as sent): whitespace trimmed and runs of it made one space (trim_whitespace),
    a blank code read as the field's blank_code, lower case (ignore_case). Null when the
    code is blank and the field has no blank code: no status. Both the events and the
    crosswalk's own codes go through it, so they meet on the same key. Whitespace and case
    are ASCII's (collation "C") on any server, as the audit's verifier reads them. -#}
{% macro status_code_key(code, fields) -%}
    case
        when coalesce({{ fields }}.ignore_case, false)
            then lower({{ _status_code_or_blank(code, fields) }} collate "C")
        else {{ _status_code_or_blank(code, fields) }}
    end
{%- endmacro %}


{% macro _status_code_or_blank(code, fields) -%}
    coalesce(
        nullif(
            case
                when coalesce({{ fields }}.trim_whitespace, false)
                    then btrim(regexp_replace({{ code }} collate "C", '\s+', ' ', 'g'))
                else {{ code }}
            end,
            ''
        ),
        nullif({{ fields }}.blank_code, '')
    )
{%- endmacro %}


{#- The canonical statuses that say the goods have left the warehouse (a shipment that
    reached one has left; the first lifecycle step with one is when an order shipped):
    the var shipped_statuses of dbt_project.yml, which the derivation spec reads too. -#}
{% macro shipped_statuses() -%}
    {{ return(var('shipped_statuses')) }}
{%- endmacro %}
