{{ config(materialized='api_function', alias='resolve_case') }}
-- POST /rpc/resolve_case: see the macro case_action_function (and orderhub/cases).
{{ case_action_function('resolve_case', 'resolve') }}
