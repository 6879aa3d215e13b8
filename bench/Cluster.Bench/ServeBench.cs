using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Cluster.Client.Serving;
using Cluster.Client.Training;
using Cluster.Grains;
using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;
using Cluster.Serving;
using Cluster.Torch;

namespace Cluster.Bench;

/// <summary>
/// The serving API under load: closed-loop clients (each sends its next request when the last is answered) at
/// concurrency 1, 8 and 64 against one replica on the CPU of an in-process silo, for a tiny config and roberta-base's,
/// sequence classification of WordNet glosses (a frozen head on the encoder). The reference, in the same run, is the
/// same model answering one request at a time: concurrency 1 over HTTP, and the replica called in-process without
/// HTTP or a queue. The router grain called from this process (no HTTP) shows what HTTP and its client cost.
/// </summary>
internal static class ServeBench
{
    public static int Run(BenchOptions options)
    {
        var seconds = double.Parse(options.Get("seconds", "10"), System.Globalization.CultureInfo.InvariantCulture);
        var levels = options.Get("concurrency", "1,8,64").Split(',').Select(int.Parse).ToArray();
        var configs = options.Get("configs", "tiny,base").Split(',');
        var threads = int.Parse(options.Get("threads", "0"));
        var corpus = options.Get("corpus", "data/demo/wordnet-glosses.txt");
        var root = Directory.CreateTempSubdirectory("cluster-serve-bench-").FullName;
        try
        {
            var glosses = ServingModels.Glosses(corpus);
            var tokenizerDir = Path.Combine(root, "tokenizer");
            var tokenizer = ServingModels.Tokenizer(glosses, tokenizerDir);
            var tokens = glosses.Select(g => tokenizer.Encode(g).Length).ToArray();
            Console.WriteLine($"serving bench: {glosses.Length} glosses of {tokens.Min()}–{tokens.Max()} tokens (mean {tokens.Average():F1}), " +
                              $"{seconds:F0} s per row, {Environment.ProcessorCount} cores, one replica");
            Console.WriteLine();
            Console.WriteLine("| config | path | clients | requests | requests/s | tokens/s | p50 ms | p99 ms | × one at a time | p99 / one-at-a-time p50 |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var name in configs)
            {
                var (encoder, head) = Models(root, name, tokenizer.VocabSize, tokenizerDir);
                RunConfig(name, encoder, head, glosses, tokens, levels, seconds, threads).GetAwaiter().GetResult();
            }
            return 0;
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    static (string encoder, string head) Models(string root, string name, int vocab, string tokenizerDir)
    {
        var config = ServingModels.Config(name, vocab);
        var encoder = Path.Combine(root, name);
        var head = Path.Combine(root, name + "-kind");
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        using (var mlm = TaskModel.Create(config, Head.MaskedLM)) mlm.SavePretrained(encoder, tokenizerDir);
        using var classifier = TaskModel.Create(config, Head.SequenceClassification);
        classifier.SaveHead(head, EncoderReference.For(encoder), tokenizerDir);
        return (encoder, head);
    }

    static async Task RunConfig(string name, string encoder, string head, string[] glosses, int[] tokens, int[] levels, double seconds, int threads)
    {
        // In-process, one request at a time: the replica without HTTP, the router or a queue between.
        using (var server = await ModelServer.StartAsync(new ModelDefinition(name, encoder, [new HeadDefinition("kind", head)]), Device.CPU, "direct",
            new Cluster.Serving.Batching.BatchingOptions { Threads = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount - 1) }))
        {
            ClosedLoop.Result? directSingle = null;
            foreach (var clients in levels)
            {
                var batches = 0L;
                var direct = await ClosedLoop.Load(seconds, clients, glosses, tokens, async body => await server.InferAsync("kind", body), () => batches = server.Batches);
                directSingle ??= direct;
                Row(name, $"in-process ({(double)direct.Requests / (server.Batches - batches):F1} a batch)", clients, direct, directSingle);
            }
        }

        await using var cluster = await EmbeddedCluster.StartAsync(1, CancellationToken.None);
        await ModelDeployer.DeployAsync(cluster.GrainFactory, [new ModelDeployment(name, encoder, [new HeadDeployment("kind", head)], 1) { Threads = threads }], TextWriter.Null);
        var router = cluster.GrainFactory.GetGrain<IModelRouterGrain>(name);
        ClosedLoop.Result? routedSingle = null;
        foreach (var clients in levels)
        {
            var routed = await ClosedLoop.Load(seconds, clients, glosses, tokens, async body => (await router.Infer(new InferenceCall(name, "kind", body))).Json!);
            routedSingle ??= routed;
            Row(name, "router grain", clients, routed, routedSingle);
        }
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(cluster.HttpUrls[0]), Timeout = TimeSpan.FromMinutes(5) };
        async Task<string> Post(string body)
        {
            using var response = await http.PostAsync($"/v1/models/{name}/kind", new StringContent(body, Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode ? text : throw new InvalidOperationException($"{(int)response.StatusCode}: {text}");
        }
        ClosedLoop.Result? single = null;
        foreach (var clients in levels)
        {
            var result = await ClosedLoop.Load(seconds, clients, glosses, tokens, Post);
            single ??= result;
            Row(name, "HTTP", clients, result, single);
        }
    }

    static void Row(string config, string path, int clients, ClosedLoop.Result r, ClosedLoop.Result single) =>
        Console.WriteLine($"| {config} | {path} | {clients} | {r.Requests} | {r.PerSecond:F1} | {r.Tokens / r.Seconds:F0} | {r.P50:F1} | {r.P99:F1} | " +
                          $"{(ReferenceEquals(r, single) ? "1 (the reference)" : $"{r.PerSecond / single.PerSecond:F2}")} | {r.P99 / single.P50:F2} |");
}
