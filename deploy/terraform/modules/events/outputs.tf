output "bus_name" {
  description = "EventBridge bus of the domain events (FRAUD_EVENT_BUS)."
  value       = aws_cloudwatch_event_bus.main.name
}

output "bus_arn" {
  description = "ARN of the event bus."
  value       = aws_cloudwatch_event_bus.main.arn
}

output "rule_names" {
  description = "The rule names: drift-retrain, retrain-nightly, drift-check, rollout-abort, rollout-evaluate, quality-measure."
  value = merge(
    { for key, rule in aws_cloudwatch_event_rule.retrain : key => rule.name },
    {
      drift-check      = aws_cloudwatch_event_rule.drift_check.name
      rollout-abort    = aws_cloudwatch_event_rule.rollout_abort.name
      rollout-evaluate = aws_cloudwatch_event_rule.rollout_evaluate.name
      quality-measure  = aws_cloudwatch_event_rule.quality_measure.name
    },
  )
}

output "dead_letter_queue_name" {
  description = "SQS queue of the events no target took after its retries (the alarms module watches it)."
  value       = aws_sqs_queue.dead_letter.name
}

output "dead_letter_queue_arn" {
  description = "ARN of that queue: the alarms module's notification rules send there too."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "URL of that queue, to read what was lost (aws sqs receive-message)."
  value       = aws_sqs_queue.dead_letter.url
}
