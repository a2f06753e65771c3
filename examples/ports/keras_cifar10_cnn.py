"""Port of the TensorFlow/Keras CIFAR-10 CNN tutorial ("Convolutional Neural Network").

The original, step for step: pixels scaled to [0, 1]; a Sequential model of
Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Conv2D(64, 3x3, relu) ->
MaxPooling2D(2) -> Conv2D(64, 3x3, relu) -> Flatten -> Dense(64, relu) ->
Dense(10) (logits); model.summary(); compiled with Adam (Keras's defaults:
lr 0.001, epsilon 1e-7) and sparse categorical cross-entropy from logits
with the accuracy metric; fit for 10 epochs (batch 32, Keras's default)
holding out the last 10% of the training set for validation; then evaluate
on the test set. Layers start from Keras's default initialisation
(glorot_uniform kernels, zero biases), not PyTorch's.

    python examples/ports/keras_cifar10_cnn.py                  # stand-in data
    python examples/ports/keras_cifar10_cnn.py --data-dir DIR   # CIFAR-10

Keras works channels-last (32, 32, 3); tinygrad_dc, like PyTorch, works
channels-first (3, 32, 32). The layers and their parameter counts are the
same (122,570 in all).

Default data: the 8x8 handwritten digits embedded in tinygrad_dc (1,438
train / 359 test images, 10 classes), resized bilinearly to 32x32 and
copied into 3 channels: exactly CIFAR-10's tensor shapes and value range,
so the model is unchanged. A fair stand-in: real handwriting, 10 classes,
real variation between writers, learnt from pixels; easier than CIFAR-10's
photos (no colour, no clutter), so the accuracy is higher and is not
comparable with CIFAR-10's (~70% for this model).

With --data-dir the real CIFAR-10 binary files are read
(data_batch_1..5.bin, test_batch.bin, as unpacked from cifar-10-binary.tar.gz).
"""
from keras_like import Compiled, keras_default_init, sparse_categorical_crossentropy, summary
from port_utils import cifar10_or_digits, parser

import tinygrad_dc as tg
from tinygrad_dc import nn, optim


def main(argv=None):
    args = parser(__doc__.splitlines()[0], epochs=10, batch_size=32, lr=0.001,
                  data_help="folder with the CIFAR-10 binary files (default: embedded digits)"
                  ).parse_args(argv)
    tg.manual_seed(args.seed)

    (train_images, train_labels), (test_images, test_labels), class_names = \
        cifar10_or_digits(args.data_dir, args.limit)

    # Normalize pixel values to be between 0 and 1: the loaders already divide by 255

    # the Keras layer each line stands for is on its right (input_shape=(32, 32, 3))
    model = nn.Sequential(
        nn.Conv2d(3, 32, (3, 3)), nn.ReLU(),   # layers.Conv2D(32, (3, 3), activation='relu')
        nn.MaxPool2d((2, 2)),                  # layers.MaxPooling2D((2, 2))
        nn.Conv2d(32, 64, (3, 3)), nn.ReLU(),  # layers.Conv2D(64, (3, 3), activation='relu')
        nn.MaxPool2d((2, 2)),                  # layers.MaxPooling2D((2, 2))
        nn.Conv2d(64, 64, (3, 3)), nn.ReLU(),  # layers.Conv2D(64, (3, 3), activation='relu')
        nn.Flatten(),                          # layers.Flatten()
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),  # layers.Dense(64, activation='relu')
        nn.Linear(64, 10),                     # layers.Dense(10)
    )
    model.apply(keras_default_init)

    summary(model, input_shape=(3, 32, 32))

    model = Compiled(model,
                     optimizer=optim.Adam(model.parameters(), lr=args.lr, eps=1e-7),
                     loss=sparse_categorical_crossentropy(from_logits=True),
                     metrics=["accuracy"])

    history = model.fit(train_images, train_labels, epochs=args.epochs,
                        batch_size=args.batch_size, validation_split=0.1)

    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)

    print(test_acc)
    return {"history": history.history, "test_loss": test_loss, "accuracy": test_acc}


if __name__ == "__main__":
    main()
