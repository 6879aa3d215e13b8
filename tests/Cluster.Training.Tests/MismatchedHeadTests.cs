using Cluster.Model.Checkpoints;
using Cluster.Model.Tasks;
using Cluster.Testing;
using Cluster.Torch;
using Cluster.Training.FineTuning;

namespace Cluster.Training.Tests;

/// <summary>A model directory that already holds the task's head for another label count (a 2-label classifier brought
/// to 3-label data): refused before any worker starts, naming --ignore-mismatched-sizes; with it, the classifier's
/// mismatched tensors start fresh and everything else loads, as from_pretrained's ignore_mismatched_sizes does.</summary>
[Collection("corpus")]
public sealed class MismatchedHeadTests : IDisposable
{
    readonly TestCorpus _corpus;
    readonly string _root = Directory.CreateTempSubdirectory("cluster-mismatched-").FullName;
    readonly FineTuningTasks _tasks;
    readonly string _twoLabels;

    public MismatchedHeadTests(TestCorpus corpus)
    {
        _corpus = corpus;
        _tasks = new FineTuningTasks(Path.Combine(_root, "data"));
        _twoLabels = Path.Combine(_root, "two-labels");
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var config = corpus.TinyConfig();
        config.num_labels = 2;
        using var model = TaskModel.Create(config, Head.SequenceClassification);
        model.SavePretrained(_twoLabels, corpus.TokenizerDirectory);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static readonly OptimizerSettings Settings = new() { LearningRate = 1e-3, TotalSteps = 10, Beta2 = 0.999, Epsilon = 1e-8 };

    (FineTuningTask, string?) Check(bool ignore) => FineTuningInputs.Check(Head.SequenceClassification, _twoLabels,
        _tasks.Path(Head.SequenceClassification, "train"), _tasks.Path(Head.SequenceClassification, "eval"), null,
        Path.Combine(_root, "out"), resume: false, new TaskOptions { MaxLength = 48 }, 1, 4, 1, Settings, ignore);

    [Fact]
    public void Another_label_count_is_refused_before_the_job_and_names_the_way_out()
    {
        var e = Assert.Throws<ArgumentException>(() => Check(ignore: false));
        Assert.Contains(_twoLabels, e.Message);
        Assert.Contains("RobertaForSequenceClassification head has 2 labels and the training data 3", e.Message);
        Assert.Contains("--ignore-mismatched-sizes", e.Message);
        var (task, _) = Check(ignore: true);
        Assert.Equal(3, task.Spec.Labels.Count);
    }

    [Fact]
    public void With_ignore_mismatched_sizes_only_the_mismatched_tensors_start_fresh()
    {
        using var scope = torch.NewDisposeScope();
        var (task, _) = Check(ignore: true);
        var worker = Assert.Throws<CheckpointException>(() => FineTuningReplica.Create(_twoLabels, task.Spec, 1, Settings, Device.CPU));
        Assert.Contains("classifier.out_proj.weight", worker.Message);

        var saved = SafeTensors.Load(Path.Combine(_twoLabels, Pretrained.WeightsFile));
        using var replica = FineTuningReplica.Create(_twoLabels, task.Spec, 1, Settings, Device.CPU, ignoreMismatchedSizes: true);
        var state = replica.Model.Module.state_dict();
        Assert.Equal([3L, _corpus.TinyConfig().hidden_size], state["classifier.out_proj.weight"].shape);
        Assert.Equal([3L], state["classifier.out_proj.bias"].shape);
        foreach (var (name, tensor) in saved)
        {
            if (name.StartsWith("classifier.out_proj.", StringComparison.Ordinal)) continue;
            Assert.True(state.ContainsKey(name), name);
            Assert.Equal(tensor.ToArray<float>(), state[name].ToArray<float>()); // the encoder and the classifier's dense layer load
        }
    }

    [Fact]
    public void The_loader_reports_what_it_left_fresh()
    {
        using var scope = torch.NewDisposeScope();
        var config = _corpus.TinyConfig();
        config.num_labels = 3;
        using var model = TaskModel.Create(config, Head.SequenceClassification);
        var fresh = model.Module.state_dict()["classifier.out_proj.weight"].ToArray<float>();
        var loaded = Pretrained.LoadWeights(model.Module, _twoLabels, model.BasePrefix, allowNewHead: true, ignoreMismatchedSizes: true);
        Assert.Equal(["classifier.out_proj.weight", "classifier.out_proj.bias"], loaded.mismatched_keys);
        Assert.Equal(fresh, model.Module.state_dict()["classifier.out_proj.weight"].ToArray<float>());
        Assert.Throws<CheckpointException>(() => Pretrained.LoadWeights(model.Module, _twoLabels, model.BasePrefix, allowNewHead: true));
    }
}
