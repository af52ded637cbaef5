//! Batches on [`ProviderClient`]: upload, create, poll, fetch the results
//! and match them to the caller's ids, each step through
//! [`exchange`](ProviderClient::exchange) with the call's options.

use super::ProviderClient;
use super::operations::Step;
use crate::error::Result;
use crate::http::exchange::{Deadline, Expect};
use crate::http::poll;
use crate::options::{BatchWait, ChatOptions};
use crate::provider::{Operation, Provider, Transform as _};
use crate::types::{
    BatchJob, BatchOutcome, BatchRequest, BatchResult, BatchResults, match_outcomes,
};

impl<P: Provider> ProviderClient<P> {
    /// Each item through the chat checks (model, validation, the
    /// unsupported-parameter policy), as a chat call would send it.
    fn prepare_batch(&self, request: BatchRequest, options: &ChatOptions) -> Result<BatchRequest> {
        request.validate()?;
        let mut prepared = request.clone();
        for item in &mut prepared.items {
            let (checked, _) = self.prepare(item.request.clone(), false, options)?;
            item.request = checked;
        }
        Ok(prepared)
    }

    pub(crate) async fn batch_create_run(
        &self,
        request: BatchRequest,
        options: &ChatOptions,
    ) -> Result<BatchJob> {
        let request = self.prepare_batch(request, options)?;
        let upload = {
            let ctx = self.ctx("", false);
            self.provider
                .wire()
                .operations()
                .build_batch_upload(&request, &ctx)?
        };
        let step = Step::full(Operation::Batch, "", options);
        let file_id = match upload {
            Some(parts) => {
                let (id, _) = self
                    .exchange(
                        step,
                        |_, _| Ok(parts),
                        |w, body, _| w.parse_batch_upload(body),
                    )
                    .await?;
                Some(id)
            }
            None => None,
        };
        let (mut job, _) = self
            .exchange(
                step,
                |w, ctx| w.build_batch_create(&request, file_id.as_deref(), ctx),
                |w, body, _| w.parse_batch(body),
            )
            .await?;
        job.provider = P::SPEC.name.to_owned();
        Ok(job)
    }

    pub(crate) async fn batch_get_run(&self, id: &str, options: &ChatOptions) -> Result<BatchJob> {
        let (mut job, _) = self
            .exchange(
                Step::full(Operation::Batch, "", options),
                |w, ctx| w.build_batch_get(id, ctx),
                |w, body, _| w.parse_batch(body),
            )
            .await?;
        job.provider = P::SPEC.name.to_owned();
        Ok(job)
    }

    pub(crate) async fn batch_results_run(
        &self,
        job: &BatchJob,
        options: &ChatOptions,
    ) -> Result<Vec<BatchOutcome>> {
        let listed = self.batch_listed(job, options).await?;
        Ok(listed
            .into_iter()
            .map(|(custom_id, result)| BatchOutcome { custom_id, result })
            .collect())
    }

    /// The results as the provider lists them, under their `custom_id`s.
    async fn batch_listed(
        &self,
        job: &BatchJob,
        options: &ChatOptions,
    ) -> Result<Vec<(String, BatchResult)>> {
        let files = {
            let ctx = self.ctx("", false);
            self.provider
                .wire()
                .operations()
                .build_batch_results(job, &ctx)?
        };
        let step = Step {
            expect: Expect::File,
            ..Step::full(Operation::Batch, "", options)
        };
        let mut results = Vec::new();
        for parts in files {
            let (listed, _) = self
                .exchange(
                    step,
                    |_, _| Ok(parts),
                    |w, body, ctx| w.parse_batch_results(body, ctx),
                )
                .await?;
            results.extend(listed);
        }
        for (_, result) in &mut results {
            if let BatchResult::Succeeded(response) = result {
                response.provider = P::SPEC.name.to_owned();
            }
        }
        Ok(results)
    }

    pub(crate) async fn batch_wait_run(
        &self,
        id: &str,
        wait: BatchWait,
        options: &ChatOptions,
    ) -> Result<BatchJob> {
        let deadline = Deadline::after(wait.timeout);
        poll::poll(
            wait.poll,
            deadline,
            || async {
                let job = self.batch_get_run(id, options).await?;
                Ok(if job.status.is_done() {
                    Ok(job)
                } else {
                    Err(job)
                })
            },
            |job: &BatchJob| format!("batch {} is {:?}", job.id, job.status),
        )
        .await
        .map_err(|e| self.finisher("").finish(e))
    }

    pub(crate) async fn batch_run(
        &self,
        request: BatchRequest,
        wait: BatchWait,
        options: &ChatOptions,
    ) -> Result<BatchResults> {
        let ids: Vec<String> = request.items.iter().map(|i| i.custom_id.clone()).collect();
        let job = self.batch_create_run(request, options).await?;
        let job = if job.status.is_done() {
            job
        } else {
            self.batch_wait_run(&job.id, wait, options).await?
        };
        let listed = self.batch_listed(&job, options).await?;
        let outcomes = match_outcomes(ids.iter().map(String::as_str), listed);
        Ok(BatchResults { job, outcomes })
    }
}
