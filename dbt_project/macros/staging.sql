{#- Staging helpers: the few expressions every raw record's staging repeats. -#}


{#- The loader's provenance columns of a raw record version (docs/sources.md), as a
    select list, qualified by `relation` when one is given. -#}
{% macro raw_provenance(relation=none) -%}
    {{ select_list(['record_key', 'content_hash', 'batch_id', 'extracted_at'], relation) }}
{%- endmacro %}


{#- A jsonb value that should be an array (a record's lines, a tracker's details), as an
    array: anything else (missing, null, an object) is the empty array, so that
    jsonb_array_elements over it yields no row instead of failing. -#}
{% macro jsonb_array_or_empty(value) -%}
    case
        when jsonb_typeof({{ value }}) = 'array' then {{ value }}
        else '[]'::jsonb
    end
{%- endmacro %}


{#- A SAP SD status field of the raw record as text: an empty or missing status is BLANK,
    SAP's "not relevant" (its own crosswalk code). -#}
{% macro sap_status(field) -%}
    coalesce(nullif(data ->> '{{ field }}', ''), 'BLANK')
{%- endmacro %}


{#- A date-time field of the raw record as timestamptz. SAP's OData V2 JSON writes
    Edm.DateTime as `/Date(<ms since the epoch, UTC>)/` and Edm.DateTimeOffset as
    `/Date(<ms>+<offset in minutes>)/` (the ms are the instant; the offset only names the zone
    it was written in: OData V2 JSON format, "Primitive types"); anything else is read as
    ISO 8601 text, which the sandbox sends. -#}
{% macro odata_datetime(field) -%}
    case
        when data ->> '{{ field }}' ~ '^/Date\(-?[0-9]+([+-][0-9]{4})?\)/$'
            then to_timestamp(
                cast(substring(data ->> '{{ field }}' from '^/Date\((-?[0-9]+)') as numeric)
                / 1000
            )
        else cast(data ->> '{{ field }}' as timestamptz)
    end
{%- endmacro %}


{#- The sales order a CRM fulfillment order version belongs to (OrderSummary.OrderNumber;
    empty is none): stg_crm__fulfillment_orders.order_id, and the expression of the raw
    table's index that reads a few orders' versions without unpacking every version
    (crm_order_index). -#}
{% macro crm_order_number() -%}
    nullif(data -> 'OrderSummary' ->> 'OrderNumber', '')
{%- endmacro %}


{#- post-hook of stg_crm__fulfillment_orders: the raw CRM versions indexed by their order
    (crm_order_number), so a per-order mart reading the versions of the orders it rebuilds
    (fct_order_current_status, in the hot path: ~30 ms a transaction of seq scan at 20,000
    orders; docs/live.md) reads them by index. The raw table is the loader's; the index is
    the staging's way of reading it, so it is declared here. -#}
{% macro crm_order_index() -%}
    create index if not exists fulfillment_orders_order_id_idx
        on {{ source('crm', 'fulfillment_orders') }} (({{ crm_order_number() }}))
{%- endmacro %}
