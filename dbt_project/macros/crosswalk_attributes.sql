{#- The canonical meaning the status crosswalk gives a (system, field, code), in the
    crosswalk's column order: the one list int_status_crosswalk__versioned (and so the
    crosswalk version), int_order_events__mapped, fct_order_status_events and
    dim_status_crosswalk_versions carry. -#}
{% macro crosswalk_attribute_names() -%}
    {{ return([
        'canonical_status',
        'cbv_biz_step',
        'cbv_disposition',
        'lifecycle_rank',
        'is_terminal',
        'payment_state',
    ]) }}
{%- endmacro %}


{#- The crosswalk attributes as a select list, qualified by `relation` when given. -#}
{% macro crosswalk_attributes(relation=none) -%}
    {{ select_list(crosswalk_attribute_names(), relation) }}
{%- endmacro %}
