{{ config(materialized='api_function', alias='acknowledge_case') }}
-- POST /rpc/acknowledge_case: see the macro case_action_function (and orderhub/cases).
{{ case_action_function('acknowledge_case', 'acknowledge') }}
