using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cluster.Client.Connection;
using Cluster.DataPlane;
using Cluster.DataPlane.Reduction;
using Cluster.Grains;
using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;
using Cluster.Silo;
using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Data;

namespace Cluster.Bench;

/// <summary>Data-parallel training on CPU. (1) The all-reduce of 4, 64 and 256 MB between two ranks on loopback, with
/// both backends (c10d Gloo; the coordinator's reduction server), against a raw loopback socket copy of the same
/// bytes, all measured here. (2) Masked-LM training tokens/s of a small RoBERTa on the demo corpus with one worker,
/// and with two workers in two Cluster.Silo processes (one libtorch thread each), the scaling efficiency, and how much of
/// the all-reduce the gradient buckets hide behind backward. (3) Fine-tuning samples/s for sequence classification at
/// 128 tokens with one and two workers.</summary>
internal static class TrainBench
{
    public static int Run(BenchOptions options)
    {
        var parts = options.Get("parts", "allreduce,pretrain,finetune").Split(',');
        if (parts.Contains("allreduce"))
        {
            var sizes = options.Get("megabytes", "4,64,256").Split(',').Select(int.Parse).ToArray();
            AllReduce(options, sizes, Math.Max(options.Repeats, 3));
            Console.WriteLine();
        }
        if (parts.Contains("pretrain") || parts.Contains("finetune")) Scaling(options, parts.Contains("pretrain"), parts.Contains("finetune")).GetAwaiter().GetResult();
        return 0;
    }

    // ---- (1) all-reduce -------------------------------------------------------------------------------------------

    static void AllReduce(BenchOptions options, int[] megabytes, int repeats)
    {
        using var pytorch = new PythonReference(options, "gloo_reference.py");
        Console.WriteLine($"All-reduce, 2 ranks (threads of this process) on loopback, float32, {Environment.ProcessorCount} cores; best of {repeats}; " +
                          $"PyTorch {pytorch.Version}'s torch.distributed Gloo between two processes as a second reference");
        Console.WriteLine();
        Console.WriteLine("| MB | raw socket copy (ms) | raw two-way exchange (ms) | × raw | collective: Gloo (ms) | × raw | PyTorch Gloo, 2 processes (ms) | × raw | coordinator server (ms) | × raw |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var mb in megabytes)
        {
            var bytes = (long)mb << 20;
            var raw = Best(repeats, () => RawCopy(bytes));
            var exchange = Best(repeats, () => RawExchange(bytes));
            var gloo = Best(repeats, () => Gloo(bytes / 4));
            var torchGloo = pytorch.Ask(mb.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var coordinator = Best(repeats, () => Coordinator(bytes / 4));
            Console.WriteLine($"| {mb} | {raw * 1e3:F1} | {exchange * 1e3:F1} | {exchange / raw:F2} | {gloo * 1e3:F1} | {gloo / raw:F2} | {torchGloo * 1e3:F1} | {torchGloo / raw:F2} | {coordinator * 1e3:F1} | {coordinator / raw:F2} |");
        }
        Console.WriteLine();
        Console.WriteLine("The raw copy sends the buffer once, one way, from an array of its size into another. An all-reduce of two ranks");
        Console.WriteLine("moves twice that (each rank sends and receives half the buffer twice: reduce-scatter, then all-gather), then adds:");
        Console.WriteLine("the raw two-way exchange is that traffic alone, both ranks sending the whole buffer to each other at once. On");
        Console.WriteLine("loopback every byte costs CPU on this machine's cores; on a full-duplex network link the two directions would not");
        Console.WriteLine("slow each other.");
    }

    static double Best(int repeats, Func<double> measure)
    {
        measure(); // warm-up
        return Enumerable.Range(0, repeats).Min(_ => measure());
    }

    /// <summary>Seconds to copy <paramref name="bytes"/> through one loopback TCP connection, sender to receiver, from an
    /// array of that size into another (as an all-reduce reads and writes its whole tensor), 4 MB a call.</summary>
    static double RawCopy(long bytes)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        const int Slice = 4 << 20;
        var (source, destination) = (new byte[bytes], new byte[bytes]);
        Array.Fill(source, (byte)1);
        Array.Fill(destination, (byte)0); // both touched: no page faults inside the timing
        var watch = Stopwatch.StartNew();
        var receiver = Task.Factory.StartNew(() =>
        {
            using var socket = listener.Accept();
            for (long got = 0; got < bytes;) got += socket.Receive(destination.AsSpan((int)got, (int)Math.Min(Slice, bytes - got)));
        }, TaskCreationOptions.LongRunning);
        using (var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
        {
            sender.Connect(listener.LocalEndPoint!);
            watch.Restart();
            for (long sent = 0; sent < bytes; sent += Slice) sender.Send(source.AsSpan((int)sent, (int)Math.Min(Slice, bytes - sent)), SocketFlags.None);
            receiver.Wait();
        }
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds for two endpoints of one loopback connection to send each other <paramref name="bytes"/> at once
    /// (a send and a receive thread each), from and into arrays of that size: the bytes a two-rank all-reduce moves.</summary>
    static double RawExchange(long bytes)
    {
        const int Slice = 4 << 20;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        a.Connect(listener.LocalEndPoint!);
        using var b = listener.Accept();
        b.NoDelay = true;
        var buffers = Enumerable.Range(0, 4).Select(i => { var x = new byte[bytes]; Array.Fill(x, (byte)i); return x; }).ToArray();
        void Send(Socket socket, byte[] from) { for (long sent = 0; sent < bytes; sent += Slice) socket.Send(from.AsSpan((int)sent, (int)Math.Min(Slice, bytes - sent)), SocketFlags.None); }
        void Receive(Socket socket, byte[] into) { for (long got = 0; got < bytes;) got += socket.Receive(into.AsSpan((int)got, (int)Math.Min(Slice, bytes - got))); }
        var watch = Stopwatch.StartNew();
        Task.WaitAll(
            Task.Factory.StartNew(() => Send(a, buffers[0]), TaskCreationOptions.LongRunning), Task.Factory.StartNew(() => Receive(a, buffers[1]), TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(() => Send(b, buffers[2]), TaskCreationOptions.LongRunning), Task.Factory.StartNew(() => Receive(b, buffers[3]), TaskCreationOptions.LongRunning));
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds of one Gloo all_reduce (sum) of <paramref name="floats"/> on two ranks, the slower rank's.</summary>
    static double Gloo(long floats)
    {
        using var server = new TCPStore("127.0.0.1", 0, isServer: true, timeout: TimeSpan.FromMinutes(2));
        return OnTwoRanks(rank =>
        {
            using var store = new TCPStore("127.0.0.1", server.Port, isServer: false, timeout: TimeSpan.FromMinutes(2));
            using var group = ProcessGroup.Create(Backend.Gloo, store, rank, 2, "127.0.0.1", TimeSpan.FromMinutes(2));
            using var tensor = torch.ones([floats], ScalarType.Float32);
            group.barrier();
            var watch = Stopwatch.StartNew();
            group.all_reduce(tensor);
            return watch.Elapsed.TotalSeconds;
        });
    }

    /// <summary>Seconds of one coordinator-backend sum of <paramref name="floats"/> on two ranks, the slower rank's.</summary>
    static double Coordinator(long floats)
    {
        var security = BulkChannelSecurity.SharedSecret("bench");
        var server = new ReductionServer(new IPEndPoint(IPAddress.Loopback, 0), 2, security, TimeSpan.FromMinutes(2));
        try
        {
            return OnTwoRanks(rank =>
            {
                using var client = ReductionClient.Connect(server.EndPoint, rank, 2, security, TimeSpan.FromMinutes(2));
                var data = new float[floats];
                client.SumInPlace(new float[1]); // both ranks are connected and in step
                var watch = Stopwatch.StartNew();
                client.SumInPlace(data);
                return watch.Elapsed.TotalSeconds;
            });
        }
        finally { server.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    static double OnTwoRanks(Func<int, double> rank)
        => Task.WhenAll(Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(() => rank(r), TaskCreationOptions.LongRunning))).GetAwaiter().GetResult().Max();

    // ---- (2) scaling ----------------------------------------------------------------------------------------------

    static async Task Scaling(BenchOptions options, bool pretraining, bool fineTuning)
    {
        var repoRoot = Path.GetFullPath(Path.Combine(options.ScriptDir, ".."));
        var steps = int.Parse(options.Get("steps", "30"));
        var work = Path.Combine(repoRoot, "artifacts", "bench", "train");
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        Directory.CreateDirectory(work);
        var (tokenizer, data, config) = PrepareDemoCorpus(repoRoot, work);

        var ports = LoopbackPorts.Free(8);
        var (a, b) = (ports[..4], ports[4..]);
        using var siloA = SiloProcess.Start(repoRoot, ["--cluster-id", "bench-train", "--name", "a", "--membership", $"localhost:{a[0]}",
            "--port", $"{a[0]}", "--gateway-port", $"{a[1]}", "--http-port", $"{a[2]}", "--bulk-port", $"{a[3]}", "--devices", "cpu"], "silo", hideWarnings: true);
        using var siloB = SiloProcess.Start(repoRoot, ["--cluster-id", "bench-train", "--name", "b", "--membership", $"localhost:{a[0]}",
            "--port", $"{b[0]}", "--gateway-port", $"{b[1]}", "--http-port", $"{b[2]}", "--bulk-port", $"{b[3]}", "--devices", "cpu"], "silo", hideWarnings: true);
        try
        {
            await using var connection = await ConnectAsync($"127.0.0.1:{a[1]}");
            var registry = connection.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while ((await registry.GetStatus()).Members.Sum(m => m.Devices.Count) < 2)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("the two silo processes did not form a cluster within 2 minutes");
                await Task.Delay(200);
            }

            if (pretraining) await Pretraining(connection, config, tokenizer, data, work, steps);
            if (fineTuning) await FineTuning(connection, config, tokenizer, work, repoRoot, steps);
        }
        finally
        {
            foreach (var silo in new[] { siloB, siloA }) if (!silo.HasExited) { silo.Kill(); silo.WaitForExit(); }
        }
    }

    static async Task Pretraining(ClusterConnection connection, RobertaConfig config, string tokenizer, string data, string work, int steps)
    {
        Console.WriteLine($"Masked-LM pretraining, RoBERTa {config.num_hidden_layers} layers × {config.hidden_size} (vocab {config.vocab_size}), sequence 128, batch 8 per worker,");
        Console.WriteLine($"the demo corpus; each worker in its own Cluster.Silo process with 1 libtorch thread; {steps} steps, the first 3 not counted");
        Console.WriteLine();
        Console.WriteLine("| workers | all-reduce | buckets | global batch | tokens/s | scaling efficiency | all-reduce ms/step | waited for after backward, ms/step | hidden behind backward |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var single = await Measure(connection, "scaling-1", 1, "collective", 0, tokenizer, data, config, work, steps);
        Console.WriteLine($"| 1 | (none) | | 8 | {single.TokensPerSecond:F0} | 1 (the reference) | | | |");
        foreach (var backend in new[] { "collective", "coordinator" })
            foreach (var megabytes in new[] { 0, 25, 4 })
            {
                var two = await Measure(connection, $"scaling-2-{backend}-{megabytes}", 2, backend, megabytes, tokenizer, data, config, work, steps);
                Console.WriteLine($"| 2 | {backend} | {(megabytes == 0 ? "none: after backward" : $"{megabytes} MB")} | 16 | {two.TokensPerSecond:F0} | " +
                                  $"{two.TokensPerSecond / (2 * single.TokensPerSecond):F2} | {two.AllReduceMs:F1} | {two.ExposedMs:F1} | {1 - two.ExposedMs / two.AllReduceMs:P0} |");
            }
        Console.WriteLine();
        Console.WriteLine($"The model's gradients are {ParameterMegabytes(config):F1} MB; buckets are taken from the last layer back, the first 1 MB (as DDP).");
        Console.WriteLine("Times are the slower worker's, averaged over the counted steps.");
        Console.WriteLine();
    }

    /// <summary>Sequence classification at 128 tokens (each example sixteen demo glosses, truncated to 128 tokens; labelled with the
    /// first one's part of speech) from a fresh model of the same size, 1 and 2 workers, in the same silo processes.</summary>
    static async Task FineTuning(ClusterConnection connection, RobertaConfig config, string tokenizer, string work, string repoRoot, int steps)
    {
        var model = Path.Combine(work, "finetune-base");
        using (var scope = torch.NewDisposeScope())
        using (var fresh = Cluster.Model.Tasks.TaskModel.Create(config, Cluster.Model.Tasks.Head.MaskedLM)) fresh.SavePretrained(model, tokenizer);
        var lines = File.ReadAllLines(Path.Combine(repoRoot, "data", "demo", "wordnet-glosses.txt"));
        const int nouns = 13685; // scripts/make_demo_corpus.sh writes the noun glosses, then the verb glosses
        var rows = Enumerable.Range(0, lines.Length / 16).Select(i => System.Text.Json.JsonSerializer.Serialize(new
        {
            text = string.Join(" ", lines.Skip(i * 16).Take(16).Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..])),
            label = i * 16 < nouns ? "noun" : "verb",
        })).ToArray();
        var train = Path.Combine(work, "finetune-train.jsonl");
        File.WriteAllLines(train, rows);
        Console.WriteLine($"Fine-tuning sequence classification at 128 tokens (demo glosses, truncated), the same model with a fresh head, batch 8 per");
        Console.WriteLine($"worker, the same silo processes (1 libtorch thread each); {steps} steps, the first 3 not counted, evaluation not timed");
        Console.WriteLine();
        Console.WriteLine("| workers | buckets | global batch | samples/s | scaling efficiency | step ms | all-reduce ms/step | waited for after backward, ms/step |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        double? reference = null;
        // The default 25 MB buckets hold this model's gradients whole (after the first 1 MB), so 4 MB shows the overlap too.
        foreach (var (workers, megabytes) in new[] { (1, 25.0), (2, 25.0), (2, 4.0) })
        {
            var id = $"finetune-{workers}-{megabytes}";
            var job = connection.Client.GetGrain<ITrainingJobGrain>(id);
            await job.Start(new TrainingJobSpec
            {
                JobId = id, ConfigJson = config.ToJson(), TokenizerDirectory = model, DataDirectory = model, OutputDirectory = Path.Combine(work, id),
                Workers = workers, BatchSize = 8, MaxLength = 128, MaxSteps = steps, LearningRate = 5e-5, WarmupSteps = 3, ThreadsPerWorker = 1,
                DeviceKind = "cpu", Beta2 = 0.999, Epsilon = 1e-8, BucketMegabytes = megabytes,
                FineTuning = new FineTuningJobSpec { Task = "sequence-classification", ModelDirectory = model, TrainFile = train, EvalFile = train, EvalBatchSize = 64 },
            });
            JobProgress progress;
            while (!(progress = await job.Progress(-1)).Status.Finished) await Task.Delay(500);
            if (progress.Status.State != "completed") throw new InvalidOperationException($"job {id} {progress.Status.State}: {progress.Status.Error}");
            var counted = progress.Steps.Where(s => s.Step >= 3).ToList();
            var samples = counted.Count * 8.0 * workers / counted.Sum(s => s.Seconds);
            reference ??= samples;
            Console.WriteLine($"| {workers} | {(workers == 1 ? "" : $"{megabytes} MB")} | {8 * workers} | {samples:F1} | {(workers == 1 ? "1 (the reference)" : $"{samples / (2 * reference.Value):F2}")} | " +
                              $"{counted.Average(s => s.Seconds) * 1e3:F0} | {counted.Average(s => s.AllReduceSeconds) * 1e3:F1} | {counted.Average(s => s.ExposedAllReduceSeconds) * 1e3:F1} |");
        }
    }

    static async Task<ClusterConnection> ConnectAsync(string gateway)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            try { return await ClusterConnection.ConnectAsync(new ClusterConnectionSettings(gateway, "bench-train")); }
            catch (ClusterConnectException) when (DateTime.UtcNow < deadline) { await Task.Delay(500); }
        }
    }

    static double ParameterMegabytes(RobertaConfig config)
    {
        using var replica = Cluster.Training.PretrainingReplica.Create(config, 1, new Cluster.Training.OptimizerSettings { LearningRate = 1e-3, TotalSteps = 1 }, Device.CPU);
        return replica.GradientElements * 4.0 / (1 << 20);
    }

    sealed record Measured(double TokensPerSecond, double AllReduceMs, double ExposedMs);

    static async Task<Measured> Measure(ClusterConnection connection, string id, int workers, string backend, double bucketMegabytes,
        string tokenizer, string data, RobertaConfig config, string work, int steps)
    {
        var job = connection.Client.GetGrain<ITrainingJobGrain>(id);
        await job.Start(new TrainingJobSpec
        {
            JobId = id, ConfigJson = config.ToJson(), TokenizerDirectory = tokenizer, DataDirectory = data,
            OutputDirectory = Path.Combine(work, id), Workers = workers, BatchSize = 8, MaxLength = 128, MaxSteps = steps,
            LearningRate = 5e-4, WarmupSteps = 3, ThreadsPerWorker = 1, DeviceKind = "cpu", AllReduce = backend, BucketMegabytes = bucketMegabytes,
        });
        JobProgress progress;
        while (!(progress = await job.Progress(-1)).Status.Finished) await Task.Delay(500);
        if (progress.Status.State != "completed") throw new InvalidOperationException($"job {id} {progress.Status.State}: {progress.Status.Error}");
        var counted = progress.Steps.Where(s => s.Step >= 3).ToList();
        return new Measured(counted.Sum(s => s.Tokens) / counted.Sum(s => s.Seconds),
            counted.Average(s => s.AllReduceSeconds) * 1e3, counted.Average(s => s.ExposedAllReduceSeconds) * 1e3);
    }

    /// <summary>A byte-level BPE tokenizer trained on the demo corpus, the corpus prepared with it, and the model's config.</summary>
    static (string Tokenizer, string Data, RobertaConfig Config) PrepareDemoCorpus(string repoRoot, string work)
    {
        var corpus = Path.Combine(repoRoot, "data", "demo", "wordnet-glosses.txt");
        var lines = File.ReadLines(corpus).Where(l => l.Length > 0).ToList();
        var tokenizerDirectory = Path.Combine(work, "tokenizer");
        var bpe = BpeTrainer.Train(lines, vocabSize: 2000);
        RobertaTokenizerFiles.Save(bpe.Vocab, bpe.Merges, tokenizerDirectory);
        var tokenizer = RobertaTokenizerFiles.Load(tokenizerDirectory);
        var data = Path.Combine(work, "shards");
        CorpusPreparation.Prepare(tokenizer, tokenizerDirectory, [corpus], data);
        var config = new RobertaConfig
        {
            vocab_size = tokenizer.VocabSize, hidden_size = 256, num_hidden_layers = 4, num_attention_heads = 4, intermediate_size = 1024,
            max_position_embeddings = 128 + 2,
        };
        return (tokenizerDirectory, data, config);
    }
}
