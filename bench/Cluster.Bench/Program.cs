using Cluster.Bench;

// usage: Cluster.Bench torch [--iterations N] [--sizes 1024,2048] [--python /usr/bin/python3]
//        Cluster.Bench model [--batch 8] [--seqs 128,512] [--repeats 3] [--trace DIR] [--reference-env NAME=VALUE]
//                            [--device cuda --dtype bfloat16 --iters 20 --python python3]   (the GPU machine: against transformers)
//        Cluster.Bench trainstep [--batch 8] [--seqs 128,512] [--repeats 3] [--device cuda --dtype bfloat16 --iters 10
//                                --peak-tflops 989 --python python3]   (a masked-LM training step against HF's; the GPU machine)
//        Cluster.Bench pipeline [--config base|tiny] [--seconds 10] [--concurrency 1,8,64] [--device cuda --dtype bfloat16
//                               --python python3]   (one replica against HF's text-classification pipeline; the GPU machine)
//        Cluster.Bench runtime [--calls 20000] [--megabytes 64,256] [--repeats 3]
//        Cluster.Bench train [--megabytes 4,64,256] [--steps 30] [--repeats 3] [--parts allreduce,pretrain,finetune]
//        Cluster.Bench serve [--seconds 10] [--concurrency 1,8,64] [--configs tiny,base] [--corpus data/demo/wordnet-glosses.txt]
//        Cluster.Bench tokenizer [--model-dir artifacts/gpt2] [--text FILE] [--node-modules DIR] [--repeats 3]
//                                [--corpus data/demo/wordnet-glosses.txt] [--wordpiece-dir artifacts/bench/wordpiece]
//        Cluster.Bench wordpiece [--text FILE] [--corpus FILE] [--repeats 3]   (the tokenizer suite's WordPiece half alone)
var options = BenchOptions.Parse(args);
return options.Suite switch
{
    "torch" => TorchOverheadBench.Run(options),
    "model" => RobertaThroughputBench.Run(options),
    "tokenizer" => TokenizerThroughputBench.Run(options),
    "wordpiece" => WordPieceOnly(options),
    "runtime" => RuntimeBench.Run(options),
    "train" => TrainBench.Run(options),
    "trainstep" => TrainStepBench.Run(options),
    "pipeline" => PipelineBench.Run(options),
    "serve" => ServeBench.Run(options),
    "raw-sink" => RawSocketSink.Run(), // the runtime suite's reference receiver, run as a second process
    _ => Fail($"unknown benchmark '{options.Suite}' (known: torch, model, tokenizer, wordpiece, runtime, train, trainstep, pipeline, serve)"),
};

static int WordPieceOnly(BenchOptions options)
{
    WordPieceThroughputBench.Run(options, options.Get("text", "artifacts/bench/text.txt"));
    return 0;
}

static int Fail(string message)
{
    Console.Error.WriteLine($"Cluster.Bench: {message}");
    return 2;
}
