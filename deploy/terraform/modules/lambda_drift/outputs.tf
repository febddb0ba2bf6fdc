output "function_name" {
  description = "Name of the drift Lambda, fraud-<env>-drift-check."
  value       = aws_lambda_function.drift.function_name
}

output "function_arn" {
  description = "ARN of the drift Lambda."
  value       = aws_lambda_function.drift.arn
}

output "dead_letter_queue_url" {
  description = "SQS queue receiving failed asynchronous invocations (operators inspect it)."
  value       = aws_sqs_queue.dead_letter.url
}

output "dead_letter_queue_name" {
  description = "Name of that queue (the alarms module watches its depth)."
  value       = aws_sqs_queue.dead_letter.name
}
