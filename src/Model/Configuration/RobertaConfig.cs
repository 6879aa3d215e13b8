namespace Cluster.Model.Configuration;

/// <summary>transformers.RobertaConfig: BERT's fields with RoBERTa's special ids (pad 1, bos 0, eos 2).</summary>
public sealed class RobertaConfig : PretrainedConfig
{
    public RobertaConfig()
    {
        vocab_size = 50265;
        pad_token_id = 1;
        bos_token_id = 0;
        eos_token_id = 2;
    }

    public override string model_type => "roberta";
}
