variable "repository_name" {
  description = "ECR repository holding the service (`<sha>`) and drift Lambda (`<sha>-lambda`) images."
  type        = string
  default     = "fraud-detection"

  validation {
    condition     = var.repository_name == "fraud-detection"
    error_message = "The deployment contract names the repository fraud-detection."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the images."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "keep_images" {
  description = "Most recent images kept; older ones expire (each release pushes two: service and Lambda)."
  type        = number
  default     = 200

  validation {
    condition     = var.keep_images >= 10
    error_message = "keep_images must be at least 10 so rollbacks stay possible."
  }
}
