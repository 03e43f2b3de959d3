{{ config(materialized='api_function', alias='assign_case') }}
-- POST /rpc/assign_case: see the macro case_action_function (and orderhub/cases).
{{ case_action_function('assign_case', 'assign', with_assignee=true) }}
