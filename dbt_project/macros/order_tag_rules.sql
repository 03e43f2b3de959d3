{#- Business rules as data: seeds/order_tag_rules.csv, compiled into SQL.

    Each row is one condition: (rule_id, tag, attribute, operator, value). The rows of
    one rule_id must all hold (and); a tag is set when any of its rules holds (or).
    Attributes are the columns of int_order_attributes__joined:

      numeric  order_value, item_count            eq neq gt gte lt lte   value: a number
      text     channel, destination_country,      eq neq in not_in       value: text, or
               destination_region, sales_region,                         a|b|c for in
               store_id, customer_tier,
               delivery_method, canonical_status
      set      product_category, sku              contains not_contains  value: a|b|c
               (any line / no line matches)

    A rule the compiler cannot read fails the build with an error naming the rule. -#}


{%- macro order_tag_rule_attributes() -%}
    {{ return({
        'order_value': ('numeric', 'order_value'),
        'item_count': ('numeric', 'item_count'),
        'channel': ('text', 'channel'),
        'destination_country': ('text', 'destination_country'),
        'destination_region': ('text', 'destination_region'),
        'sales_region': ('text', 'sales_region'),
        'store_id': ('text', 'store_id'),
        'customer_tier': ('text', 'customer_tier'),
        'delivery_method': ('text', 'delivery_method'),
        'canonical_status': ('text', 'canonical_status'),
        'product_category': ('set', 'product_categories'),
        'sku': ('set', 'skus'),
    }) }}
{%- endmacro -%}


{#- The rules, as a list of dicts, read from the seed at run time (unit tests override
    this macro with literal rules). -#}
{% macro order_tag_rules() %}
    {%- set relation = ref('order_tag_rules') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = run_query(
        "select rule_id, tag, attribute, operator, value from " ~ relation
        ~ " order by rule_id, attribute, operator, value"
    ) -%}
    {%- set rules = [] -%}
    {%- for row in found.rows -%}
        {%- do rules.append({
            'rule_id': row[0], 'tag': row[1], 'attribute': row[2],
            'operator': row[3], 'value': row[4],
        }) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


{#- One condition as SQL over the attributes relation. -#}
{% macro order_tag_condition(rule) -%}
    {%- set attributes = order_tag_rule_attributes() -%}
    {%- set where = "order_tag_rules: rule '" ~ rule.rule_id ~ "' (" ~ rule.attribute ~ " "
        ~ rule.operator ~ " " ~ rule.value ~ ")" -%}
    {%- if rule.attribute not in attributes -%}
        {{ exceptions.raise_compiler_error(where ~ ": unknown attribute '" ~ rule.attribute
            ~ "'; known: " ~ (attributes.keys() | sort | join(', '))) }}
    {%- endif -%}
    {%- set kind, column = attributes[rule.attribute] -%}
    {%- set value = (rule.value if rule.value is not none else '') | string -%}
    {%- set values = value.split('|') | map('trim') | list -%}
    {%- if kind == 'numeric' -%}
        {%- set operators = {'eq': '=', 'neq': '<>', 'gt': '>', 'gte': '>=', 'lt': '<', 'lte': '<='} -%}
        {%- if rule.operator not in operators -%}
            {{ exceptions.raise_compiler_error(where ~ ": operator '" ~ rule.operator
                ~ "' does not apply to a number; use one of " ~ (operators.keys() | join(', '))) }}
        {%- endif -%}
        {%- if not modules.re.fullmatch('-?[0-9]+(\\.[0-9]+)?', value | trim) -%}
            {{ exceptions.raise_compiler_error(where ~ ": '" ~ value ~ "' is not a number") }}
        {%- endif -%}
        coalesce({{ column }} {{ operators[rule.operator] }} {{ value | trim }}, false)
    {%- elif kind == 'text' -%}
        {%- if rule.operator == 'eq' -%}
            coalesce({{ column }} = {{ text_literal(value | trim) }}, false)
        {%- elif rule.operator == 'neq' -%}
            {{ column }} is distinct from {{ text_literal(value | trim) }}
        {%- elif rule.operator in ('in', 'not_in') -%}
            {%- set listed = text_literals(values) -%}
            {%- if rule.operator == 'in' -%}
                coalesce({{ column }} in ({{ listed }}), false)
            {%- else -%}
                coalesce({{ column }} not in ({{ listed }}), true)
            {%- endif -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(where ~ ": operator '" ~ rule.operator
                ~ "' does not apply to text; use eq, neq, in or not_in") }}
        {%- endif -%}
    {%- else -%}
        {%- set listed = text_literals(values) -%}
        {%- if rule.operator == 'contains' -%}
            coalesce({{ column }} && cast(array[{{ listed }}] as text[]), false)
        {%- elif rule.operator == 'not_contains' -%}
            not coalesce({{ column }} && cast(array[{{ listed }}] as text[]), false)
        {%- else -%}
            {{ exceptions.raise_compiler_error(where ~ ": operator '" ~ rule.operator
                ~ "' does not apply to a list; use contains or not_contains") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- select (order_id, tag, rule_id) for every rule an order meets, over `relation`. -#}
{% macro compile_order_tag_rules(rules, relation) -%}
    {%- set by_rule = {} -%}
    {%- set rule_order = [] -%}
    {%- for rule in rules -%}
        {%- if not modules.re.fullmatch('[a-z][a-z0-9_]*', rule.tag | string) -%}
            {{ exceptions.raise_compiler_error("order_tag_rules: rule '" ~ rule.rule_id
                ~ "': tag '" ~ rule.tag ~ "' must be lower_snake_case") }}
        {%- endif -%}
        {%- if rule.rule_id not in by_rule -%}
            {%- do by_rule.update({rule.rule_id: []}) -%}
            {%- do rule_order.append(rule.rule_id) -%}
        {%- endif -%}
        {%- if by_rule[rule.rule_id] and by_rule[rule.rule_id][0].tag != rule.tag -%}
            {{ exceptions.raise_compiler_error("order_tag_rules: rule '" ~ rule.rule_id
                ~ "' names two tags: '" ~ by_rule[rule.rule_id][0].tag ~ "' and '" ~ rule.tag ~ "'") }}
        {%- endif -%}
        {%- do by_rule[rule.rule_id].append(rule) -%}
    {%- endfor -%}
    {%- if not rule_order %}
    select
        cast(null as text) as order_id,
        cast(null as text) as tag,
        cast(null as text) as rule_id
    where false
    {%- endif %}
    {%- for rule_id in rule_order %}
    {%- set conditions = by_rule[rule_id] %}
    select
        order_id,
        {{ text_literal(conditions[0].tag) }} as tag,
        {{ text_literal(rule_id) }} as rule_id
    from {{ relation }}
    where
        {%- for condition in conditions %}
        {% if not loop.first %}and {% endif %}{{ order_tag_condition(condition) }}
        {%- endfor %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
