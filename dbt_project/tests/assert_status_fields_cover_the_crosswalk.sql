{#- Every field the crosswalk maps codes of has its row in seeds/status_fields: how its
    codes are normalised and what class of event they record. A field without one would be
    matched as sent and classed a physical movement by default. -#}
select distinct
    crosswalk.source_system,
    crosswalk.source_field

from {{ ref('status_crosswalk') }} as crosswalk
left join {{ ref('status_fields') }} as fields
    on crosswalk.source_system = fields.source_system
    and crosswalk.source_field = fields.source_field
where fields.source_field is null
