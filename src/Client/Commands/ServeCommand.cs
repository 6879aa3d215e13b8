using System.CommandLine;
using Cluster.Client.Connection;
using Cluster.Client.Serving;
using Cluster.Client.Training;
using Cluster.Grains;

namespace Cluster.Client.Commands;

/// <summary>`cluster serve`: keep models warm on replicas and answer the HTTP API, on an in-process cluster (until
/// Ctrl-C) or deployed into a running one (whose every silo then answers).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model") { Description = "NAME=DIR: a model directory to serve under NAME (the first is the default model)", Required = true, AllowMultipleArgumentsPerToken = false };
        var heads = new Option<string[]>("--head") { Description = "MODEL:HEAD=DIR: a fine-tuned head (frozen-encoder heads share the model's encoder)" };
        var replicas = new Option<int>("--replicas") { Description = "replicas of each model (spread over devices and silos)", DefaultValueFactory = _ => 1 };
        var port = new Option<int>("--port") { Description = "in-process: the first silo's HTTP port (0: a free one)", DefaultValueFactory = _ => 8080 };
        var silos = new Option<int?>("--silos") { Description = "in-process: silos to start, one CPU device each (default: --replicas)" };
        var apiKeys = new Option<string[]>("--api-key") { Description = "in-process: a Bearer key the API requires (repeat for several)" };
        var maxBatchTokens = new Option<int>("--max-batch-tokens") { Description = "a batch's budget in padded tokens", DefaultValueFactory = _ => 16384 };
        var maxBatchRequests = new Option<int>("--max-batch-requests") { Description = "requests in one batch", DefaultValueFactory = _ => 64 };
        var maxQueue = new Option<int>("--max-queue") { Description = "requests a replica queues before answering 429", DefaultValueFactory = _ => 512 };
        var maxDelay = new Option<int>("--max-batch-delay-ms") { Description = "how long a replica waits to fill a batch (0: never)", DefaultValueFactory = _ => 0 };
        var maxInputs = new Option<int>("--max-inputs") { Description = "inputs in one request", DefaultValueFactory = _ => 32 };
        var maxTokens = new Option<int>("--max-input-tokens") { Description = "tokens in one input (the model's own limit applies too)", DefaultValueFactory = _ => 512 };
        var truncate = new Option<bool>("--auto-truncate") { Description = "cut over-long inputs instead of answering 413" };
        var deviceKind = new Option<string?>("--device-kind") { Description = "place replicas on cpu or cuda devices only" };
        var cluster = new ClusterOptions(inProcessWithout: true);   // with --cluster: deploy there and exit
        var command = new Command("serve", "Serve models over HTTP from warm replicas (fill-mask, classification, NER, QA, multiple choice, embeddings)")
        {
            models, heads, replicas, port, silos, apiKeys, maxBatchTokens, maxBatchRequests, maxQueue, maxDelay, maxInputs, maxTokens, truncate, deviceKind,
        };
        cluster.AddTo(command);
        command.SetAction(async (parsed, cancellation) =>
        {
            var count = parsed.GetValue(replicas);
            if (count < 1) throw new ArgumentException($"--replicas must be at least 1, got {count}");
            var deployments = ModelDeployer.Parse(parsed.GetValue(models) ?? [], parsed.GetValue(heads) ?? [], count, d => d with
            {
                MaxBatchTokens = parsed.GetValue(maxBatchTokens), MaxBatchRequests = parsed.GetValue(maxBatchRequests),
                MaxQueuedRequests = parsed.GetValue(maxQueue), MaxBatchDelayMilliseconds = parsed.GetValue(maxDelay),
                MaxInputsPerRequest = parsed.GetValue(maxInputs), MaxInputTokens = parsed.GetValue(maxTokens),
                AutoTruncate = parsed.GetValue(truncate), DeviceKind = parsed.GetValue(deviceKind),
            });
            var keys = parsed.GetValue(apiKeys) ?? [];
            if (cluster.ReadOptional(parsed) is { } remote)
            {
                if (keys.Length > 0)
                    throw new ArgumentException("--api-key: a running cluster's keys are its silos' setting (--api-keys or CLUSTER_API_KEYS on each silo)");
                await using var connection = await ClusterConnection.ConnectAsync(remote, cancellation);
                await ModelDeployer.DeployAsync(connection.Client, deployments, Console.Out);
                Console.WriteLine("deployed: every silo's HTTP port answers /v1/models/{model}/{task}");
                return 0;
            }
            var siloCount = parsed.GetValue(silos) ?? count;
            if (siloCount < 1) throw new ArgumentException($"--silos must be at least 1, got {siloCount}");
            await using var embedded = await EmbeddedCluster.StartAsync(siloCount, cancellation, parsed.GetValue(port), keys);
            await ModelDeployer.DeployAsync(embedded.GrainFactory, deployments, Console.Out);
            var url = embedded.HttpUrls[0];
            Console.WriteLine($"serving on {string.Join(", ", embedded.HttpUrls)} (Ctrl-C stops)");
            Console.WriteLine($"  curl -s {url}/v1/models");
            Console.WriteLine($"  curl -s {url}/v1/models/{deployments[0].Name}/embed -H 'Content-Type: application/json' -d '{{\"inputs\": \"hello\"}}'");
            try { await Task.Delay(Timeout.Infinite, cancellation); }
            catch (OperationCanceledException) { Console.WriteLine("stopping"); }
            return 0;
        });
        return command;
    }
}
