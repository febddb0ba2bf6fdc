output "bus_name" {
  description = "EventBridge bus of the domain events (FRAUD_EVENT_BUS)."
  value       = aws_cloudwatch_event_bus.main.name
}

output "bus_arn" {
  description = "ARN of the event bus."
  value       = aws_cloudwatch_event_bus.main.arn
}

output "rule_names" {
  description = "The rule names: drift-retrain, retrain-nightly, drift-check, rollout-abort, rollout-evaluate."
  value = merge(
    { for key, rule in aws_cloudwatch_event_rule.retrain : key => rule.name },
    {
      drift-check      = aws_cloudwatch_event_rule.drift_check.name
      rollout-abort    = aws_cloudwatch_event_rule.rollout_abort.name
      rollout-evaluate = aws_cloudwatch_event_rule.rollout_evaluate.name
    },
  )
}
