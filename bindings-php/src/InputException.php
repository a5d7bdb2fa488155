<?php
declare(strict_types=1);

namespace Convtrack;

/** Input errors: the event, an option or an argument is invalid. */
class InputException extends ConvtrackException
{
}
