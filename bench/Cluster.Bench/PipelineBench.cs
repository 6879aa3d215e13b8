using System.Globalization;
using Cluster.Model.Tasks;
using Cluster.Serving;
using Cluster.Serving.Batching;
using Cluster.Torch;

namespace Cluster.Bench;

/// <summary>
/// Our serving engine against Hugging Face pipelines (issue 16's GPU comparison): a sequence-classification model
/// (roberta-base's config by default, random weights, a BPE vocabulary trained on the glosses) saved in HF's layout,
/// served by one replica (ModelServer: the bounded queue and the batch loop, without HTTP or grains) to closed-loop
/// clients at --concurrency levels, against transformers' text-classification pipeline on the same directory and
/// glosses in the same run (bench/pipeline_reference.py): called one gloss at a time, as a server would per request,
/// and handed lists with batch_size 64, its offline best. Target: ≥ 3× the pipeline's throughput.
/// </summary>
internal static class PipelineBench
{
    public static int Run(BenchOptions options)
    {
        var (device, dtypeName, parsed) = options.DeviceAndDtype();
        bool gpu = device.Type != DeviceType.CPU;
        ScalarType? dtype = parsed == ScalarType.Float32 ? null : parsed; // the replica's weights stay as saved
        var seconds = double.Parse(options.Get("seconds", "10"), CultureInfo.InvariantCulture);
        var levels = options.Get("concurrency", "1,8,64").Split(',').Select(int.Parse).ToArray();
        var corpus = Path.GetFullPath(options.Get("corpus", Path.Combine(options.ScriptDir, "..", "data", "demo", "wordnet-glosses.txt")));
        var root = Directory.CreateTempSubdirectory("cluster-pipeline-bench-").FullName;
        try
        {
            var glosses = ServingModels.Glosses(corpus);
            var tokenizerDir = Path.Combine(root, "tokenizer");
            var tokenizer = ServingModels.Tokenizer(glosses, tokenizerDir);
            var tokens = glosses.Select(g => tokenizer.Encode(g).Length).ToArray();
            var name = options.Get("config", "base");
            var model = Path.Combine(root, name);
            using (var scope = torch.NewDisposeScope())
            {
                torch.manual_seed(1);
                using var classifier = TaskModel.Create(ServingModels.Config(name, tokenizer.VocabSize), Head.SequenceClassification);
                classifier.SavePretrained(model, tokenizerDir);
            }

            using var reference = new PythonReference(options, "pipeline_reference.py", model, corpus, device.ToString(), dtypeName);
            Console.WriteLine($"sequence classification of {glosses.Length} glosses ({tokens.Min()}–{tokens.Max()} tokens, mean {tokens.Average():F1}), " +
                              $"the {name} config, {dtypeName} on {device}, {seconds:F0} s a row");
            Console.WriteLine();
            Console.WriteLine("| path | clients | requests/s | p50 ms | p99 ms | × the pipeline one at a time |");
            Console.WriteLine("|---|---|---|---|---|---|");
            double? serial = null;
            if (!reference.Version.StartsWith("none", StringComparison.Ordinal))
            {
                serial = reference.Ask($"serial {seconds.ToString(CultureInfo.InvariantCulture)}");
                Console.WriteLine($"| transformers pipeline, one gloss a call | 1 | {serial:F1} | | | 1 (the reference) |");
                var batched = reference.Ask($"batched {seconds.ToString(CultureInfo.InvariantCulture)} 64");
                Console.WriteLine($"| transformers pipeline, lists with batch_size 64 | (offline) | {batched:F1} | | | {batched / serial:F2} |");
            }
            var batching = new BatchingOptions { Threads = gpu ? 1 : Math.Max(1, Environment.ProcessorCount - 1) };
            using (var server = ModelServer.StartAsync(new ModelDefinition(name, model, []), device, "bench", batching, dtype: dtype).GetAwaiter().GetResult())
                foreach (var clients in levels)
                {
                    var r = ClosedLoop.Load(seconds, clients, glosses, tokens, body => server.InferAsync("sequence-classification", body)).GetAwaiter().GetResult();
                    Console.WriteLine($"| Cluster replica (queue and batch loop, no HTTP) | {clients} | {r.PerSecond:F1} | {r.P50:F1} | {r.P99:F1} | " +
                                      $"{(serial is { } s ? $"{r.PerSecond / s:F2}" : "-")} |");
                }
            Console.WriteLine();
            Console.WriteLine($"reference: {reference.Version}; ours: libtorch {torch.__version__}");
            return 0;
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
