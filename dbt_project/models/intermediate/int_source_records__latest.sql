-- One row per source record: what its latest version says it is about. The latest version
-- of a record decides which order its events belong to (an earlier version's reference is
-- a previous order: the record was reassigned), and which shipment they are part of.
-- Windows and groups are by (source_system, record_key), so a filter on those columns
-- (the incremental fct_order_status_events) reaches the raw tables.
with

erp_orders as (

    select * from {{ ref('stg_erp__sales_orders') }}

),

crm_fulfillment_orders as (

    select * from {{ ref('stg_crm__fulfillment_orders') }}

),

wms_pickings as (

    select * from {{ ref('stg_wms__pickings') }}

),

tms_trackers as (

    select * from {{ ref('stg_tms__trackers') }}

),

versions as (

    -- every stored version: its order reference, when it was written, and (WMS, TMS) the
    -- shipment it names
    select
        'erp' as source_system,
        record_key,
        order_id,
        changed_at as version_time,
        cast(null as text) as shipment_ref,
        cast(null as text) as tracking_code,
        cast(null as text) as carrier,
        extracted_at,
        content_hash

    from erp_orders

    union all

    select
        'crm',
        record_key,
        order_id,
        changed_at,
        null,
        null,
        null,
        extracted_at,
        content_hash

    from crm_fulfillment_orders

    union all

    select
        'wms',
        record_key,
        order_id,
        changed_at,
        -- a delivery's pickings share its procurement group; without one, its sales order
        procurement_group,
        carrier_tracking_ref,
        null,
        extracted_at,
        content_hash

    from wms_pickings

    union all

    select
        'tms',
        record_key,
        order_id,
        updated_at,
        tracker_id,
        tracking_code,
        carrier,
        extracted_at,
        content_hash

    from tms_trackers

),

ranked as (

    select
        *,
        row_number() over latest_first as recency,
        first_value(order_id) over latest_first as current_order_id

    from versions
    window latest_first as (
        partition by source_system, record_key
        order by version_time desc, extracted_at desc, content_hash desc
    )

),

moved as (

    select
        *,
        -- an earlier version named another order
        order_id is not null and order_id is distinct from current_order_id as names_other_order,
        max(case when order_id is not null and order_id is distinct from current_order_id then version_time end)
            over (partition by source_system, record_key) as left_other_order_at

    from ranked

),

final as (

    select
        source_system,
        record_key,
        max(current_order_id) as order_id,
        coalesce(
            jsonb_agg(distinct order_id order by order_id) filter (where names_other_order),
            '[]'::jsonb
        ) as previous_order_ids,
        min(version_time) filter (where version_time > left_other_order_at) as reassigned_at,
        coalesce(
            (array_agg(shipment_ref order by recency))[1],
            case when source_system = 'wms' then max(current_order_id) end
        ) as shipment_ref,
        (array_agg(tracking_code order by recency))[1] as tracking_code,
        (array_agg(carrier order by recency))[1] as carrier

    from moved
    group by source_system, record_key

)

select * from final
